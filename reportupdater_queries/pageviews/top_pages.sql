-- The ten most viewed pages of each domain code in one day; ties are broken by title.
WITH views AS (
    SELECT domain_code, page_title, sum(count_views) AS views
    FROM wmf.pageview_hourly
    WHERE year = {year} AND month = {month} AND day = {day}
    GROUP BY domain_code, page_title
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY domain_code ORDER BY views DESC, page_title) AS rank
    FROM views
)
SELECT DATE '{from_date}' AS date, domain_code, CAST(rank AS BIGINT) AS rank, page_title, CAST(views AS BIGINT) AS views
FROM ranked
WHERE rank <= 10
ORDER BY domain_code, rank
