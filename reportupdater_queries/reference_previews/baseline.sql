-- Footnote clicks and pageviews by readers (not bots) per wiki and day, over [from_date, to_date).
SELECT
    date(from_iso8601_timestamp(meta.dt)) AS date,
    wiki,
    count_if(event.action = 'clickedFootnote') AS footnote_clicks,
    count_if(event.action = 'pageview') AS pageviews
FROM event.referencepreviewsbaseline
WHERE year >= {year}
  AND from_iso8601_timestamp(meta.dt) >= from_iso8601_timestamp('{from_date}T00:00:00Z')
  AND from_iso8601_timestamp(meta.dt) < from_iso8601_timestamp('{to_date}T00:00:00Z')
  AND useragent.is_bot = false
GROUP BY date(from_iso8601_timestamp(meta.dt)), wiki
ORDER BY 1, 2
