-- Every ad platform campaign, Google Ads and LinkedIn Ads, keyed as its day rows are: what
-- the spend facts need of a campaign (the slug of its name, which meets int_campaigns, and
-- the currency LinkedIn bills it in). Its status is left out: a paused campaign's days are
-- the same days, so a day's status changes move no spend row.

with google_campaigns as (
    select * from stg_google_ads__campaigns
),

linkedin_campaigns as (
    select * from stg_linkedin_ads__campaigns
)

select
    'google_ads' as platform,
    platform_campaign_id,
    campaign_slug,
    -- Google bills in the customer account's currency, which each day row carries.
    null::text as currency_code
from google_campaigns
union all
select
    'linkedin_ads',
    campaign_urn,
    campaign_slug,
    currency_code
from linkedin_campaigns
