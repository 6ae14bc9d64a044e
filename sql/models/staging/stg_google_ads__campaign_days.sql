-- Google Ads campaign metrics per customer account and day. The campaign's name lives in
-- stg_google_ads__campaigns (the source serves it as it is now, not as it was on the day).
-- Cost is in the account's currency (micros); the mart converts it. Metrics default to zero
-- when omitted.

select
    customer_id,
    campaign_id,
    -- How the spend facts key a platform campaign (LinkedIn's is its URN).
    customer_id || ':' || campaign_id as platform_campaign_id,
    metric_date as date_day,
    upper(record -> 'customer' ->> 'currencyCode') as currency_code,
    coalesce((record -> 'metrics' ->> 'impressions')::bigint, 0) as impressions,
    coalesce((record -> 'metrics' ->> 'clicks')::bigint, 0) as clicks,
    coalesce((record -> 'metrics' ->> 'costMicros')::numeric, 0) / 1000000 as spend_local,
    coalesce((record -> 'metrics' ->> 'conversions')::numeric, 0) as platform_conversions
from raw.google_ads__campaign_days
where not is_deleted
