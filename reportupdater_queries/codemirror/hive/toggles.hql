-- Toggles of syntax highlighting on one wiki and day, by editor and new state.
SELECT
    '{from_date}' AS `date`,
    event_editor AS editor,
    CAST(event_enabled AS STRING) AS enabled,
    COUNT(*) * 16 AS toggles
FROM event.codemirrorusage
WHERE year = {year} AND month = {month} AND day = {day}
  AND wiki = '{wiki}'
  AND event_toggled
GROUP BY event_editor, CAST(event_enabled AS STRING)
ORDER BY editor, enabled
