-- All pageviews of each domain code in one day (the empty domain code is kept as '').
SELECT
    DATE '{from_date}' AS date,
    domain_code,
    CAST(sum(count_views) AS BIGINT) AS views
FROM wmf.pageview_hourly
WHERE year = {year} AND month = {month} AND day = {day}
GROUP BY domain_code
ORDER BY domain_code
