-- LinkedIn campaign metrics per day, cost in the ad account's currency.

select
    campaign_urn,
    metric_date as date_day,
    coalesce((record ->> 'impressions')::bigint, 0) as impressions,
    coalesce((record ->> 'clicks')::bigint, 0) as clicks,
    coalesce((record ->> 'costInLocalCurrency')::numeric, 0) as spend_local,
    coalesce((record ->> 'externalWebsiteConversions')::numeric, 0) as platform_conversions
from raw.linkedin_ads__campaign_days
where not is_deleted
