-- Toggles of syntax highlighting on one wiki and day, by editor and new state; bots left out.
SELECT
    '{from_date}' AS `date`,
    event.editor AS editor,
    CAST(event.enabled AS STRING) AS enabled,
    COUNT(*) * 16 AS toggles
FROM event.codemirrorusage
WHERE year = {year} AND month = {month} AND day = {day}
  AND wiki = '{wiki}'
  AND useragent.is_bot = false
  AND event.toggled = true
GROUP BY event.editor, CAST(event.enabled AS STRING)
ORDER BY editor, enabled
