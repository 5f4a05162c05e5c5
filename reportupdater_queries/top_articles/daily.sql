-- The 25 most viewed pages of each domain code in one day, without the pages that are not
-- articles (the blacklist below, as `metrics toppages --blacklist` takes it); ties broken by title.
WITH blacklist AS (
    SELECT domain_code, page_title
    FROM (
        VALUES
            ('en', 'Main_Page'), ('en', 'Special:Search'), ('en', '-'),
            ('en.m', 'Main_Page'), ('en.m', 'Special:Search'), ('en.m', '-'),
            ('de', 'Main_Page'), ('de', 'Special:Search'), ('de', '-'),
            ('', 'Main_Page')
    ) AS listed (domain_code, page_title)
), views AS (
    SELECT domain_code, page_title, sum(count_views) AS views
    FROM wmf.pageview_hourly AS p
    WHERE year = {year} AND month = {month} AND day = {day}
      AND NOT EXISTS (SELECT 1 FROM blacklist AS b WHERE b.domain_code = p.domain_code AND b.page_title = p.page_title)
    GROUP BY domain_code, page_title
), ranked AS (
    SELECT domain_code, page_title, views, row_number() OVER (PARTITION BY domain_code ORDER BY views DESC, page_title) AS rank
    FROM views
)
SELECT DATE '{from_date}' AS date, domain_code, CAST(rank AS BIGINT) AS rank, page_title, CAST(views AS BIGINT) AS views
FROM ranked
WHERE rank <= 25
ORDER BY domain_code, rank
