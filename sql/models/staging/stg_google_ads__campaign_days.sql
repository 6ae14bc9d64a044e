-- Google Ads campaign metrics per customer account and day, with the slug of the campaign
-- name that joins it to Salesforce campaigns and UTM values. Cost is in the account's
-- currency (micros); the mart converts it. Metrics default to zero when omitted.
-- grain: customer_id, campaign_id, date_day

select
    customer_id,
    campaign_id,
    metric_date as date_day,
    trim(record -> 'campaign' ->> 'name') as campaign_name,
    trim(both '-' from regexp_replace(lower(record -> 'campaign' ->> 'name'), '[^a-z0-9]+', '-', 'g'))
        as campaign_slug,
    upper(record -> 'customer' ->> 'currencyCode') as currency_code,
    coalesce((record -> 'metrics' ->> 'impressions')::bigint, 0) as impressions,
    coalesce((record -> 'metrics' ->> 'clicks')::bigint, 0) as clicks,
    coalesce((record -> 'metrics' ->> 'costMicros')::numeric, 0) / 1000000 as spend_local,
    coalesce((record -> 'metrics' ->> 'conversions')::numeric, 0) as platform_conversions
from raw.google_ads__campaign_days
where not is_deleted
