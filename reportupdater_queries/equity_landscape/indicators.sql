-- Population, people using the internet (from the published percent) and active editors per country, for the year of the interval.
SELECT
    DATE '{from_date}' AS date,
    i.country,
    CAST(max(CASE WHEN i.indicator = 'SP.POP.TOTL' THEN i.value END) AS BIGINT) AS population,
    CAST(round(max(CASE WHEN i.indicator = 'SP.POP.TOTL' THEN i.value END)
               * max(CASE WHEN i.indicator = 'IT.NET.USER.ZS' THEN i.value END) / 100) AS BIGINT) AS internet_users,
    max(e.active_editors) AS active_editors
FROM external.world_bank_indicators AS i
LEFT JOIN external.editors_by_country AS e
  ON e.country = i.country AND e.year = i.year
WHERE i.year = {year} AND {month} = 1
GROUP BY i.country
ORDER BY i.country
