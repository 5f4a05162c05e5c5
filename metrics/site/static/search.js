// The catalogue's search box: hides the specs whose text does not hold every word typed.
// Runs from disk (file://): no modules, no network. `?q=words` in the address fills the box.
(function () {
  "use strict";
  function start() {
    var box = document.getElementById("search");
    if (!box) { return; }
    var items = Array.prototype.slice.call(document.querySelectorAll("[data-search]"));
    var shown = document.getElementById("shown");
    var nothing = document.getElementById("nothing");
    function apply() {
      var words = box.value.toLowerCase().split(/\s+/).filter(function (w) { return w.length > 0; });
      var count = 0;
      items.forEach(function (item) {
        var text = item.getAttribute("data-search");
        var hit = words.every(function (w) { return text.indexOf(w) !== -1; });
        item.hidden = !hit;
        if (hit) { count += 1; }
      });
      shown.textContent = count + " of " + items.length + " shown";
      nothing.hidden = count > 0;
    }
    var asked = new URLSearchParams(window.location.search).get("q");
    if (asked) { box.value = asked; }
    box.addEventListener("input", apply);
    apply();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
