-- Annual recurring revenue and its movements summed by month, segment and region:
-- fct_customer_arr_monthly rolled up to what the ARR charts group by (about 600 times fewer
-- rows at scale 10). Sums only, so ARR, retention and the movements are the same on it as on
-- the account-level fact; counts of accounts stay on the fact.

-- A day's build brings it forward by the rows its fact replaced (transform/differences.py):
-- the sums are trimmed of trailing zeros, so they read the same either way.

with account_months as (
    select * from fct_customer_arr_monthly
),

monthly as (
    select
        month_start,
        segment,
        region,
        count(*)::integer as account_months,
        trim_scale(sum(arr_usd)) as arr_usd,
        trim_scale(sum(arr_12m_ago_usd)) as arr_12m_ago_usd,
        trim_scale(sum(net_retained_arr_usd)) as net_retained_arr_usd,
        trim_scale(sum(gross_retained_arr_usd)) as gross_retained_arr_usd,
        trim_scale(sum(arr_prior_month_usd)) as arr_prior_month_usd,
        trim_scale(sum(new_arr_usd)) as new_arr_usd,
        trim_scale(sum(expansion_arr_usd)) as expansion_arr_usd,
        trim_scale(sum(contraction_arr_usd)) as contraction_arr_usd,
        trim_scale(sum(churned_arr_usd)) as churned_arr_usd
    from account_months
    group by 1, 2, 3
)

select * from monthly
