-- Editing sessions (sampled 1 in 16) on one wiki and day, by editor.
SELECT
    '{from_date}' AS `date`,
    event_editor AS editor,
    COUNT(DISTINCT event_session_token) * 16 AS sessions
FROM event.codemirrorusage
WHERE year = {year} AND month = {month} AND day = {day}
  AND wiki = '{wiki}'
GROUP BY event_editor
ORDER BY editor
