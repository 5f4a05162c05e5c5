-- Footnote clicks and pageviews per wiki and day, over [from_date, to_date).
SELECT
    CAST(meta_dt AS DATE) AS date,
    wiki,
    count_if(event_action = 'clickedFootnote') AS footnote_clicks,
    count_if(event_action = 'pageview') AS pageviews
FROM event.referencepreviewsbaseline
WHERE meta_dt >= from_iso8601_timestamp('{from_date}T00:00:00Z')
  AND meta_dt < from_iso8601_timestamp('{to_date}T00:00:00Z')
GROUP BY CAST(meta_dt AS DATE), wiki
ORDER BY 1, 2
