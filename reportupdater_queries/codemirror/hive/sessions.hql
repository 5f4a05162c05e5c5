-- Editing sessions (sampled 1 in 16) on one wiki and day, by editor; bots left out.
SELECT
    '{from_date}' AS `date`,
    event.editor AS editor,
    COUNT(DISTINCT event.session_token) * 16 AS sessions
FROM event.codemirrorusage
WHERE year = {year} AND month = {month} AND day = {day}
  AND wiki = '{wiki}'
  AND useragent.is_bot = false
GROUP BY event.editor
ORDER BY editor
