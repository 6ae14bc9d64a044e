-- Annual recurring revenue per account and month (subscription revenue invoiced in the month
-- × 12) beside the same account's ARR the month before and twelve months before: the inputs
-- of NRR and GRR, and of the month's ARR movements (new, expansion, contraction, churn). A
-- month appears while the account has ARR now, had it last month or a year ago, up to the
-- last month with subscription revenue (of every account: dim_last_subscription_month), so
-- churned accounts stay in the cohort with 0.
--
-- An account's rows read only its own revenue lines: a day's build computes again the
-- accounts whose lines or segment moved, and the whole table when the last month moves.

with revenue as (
    select * from fct_revenue_lines where product_family = 'subscription' and account_key is not null
),

accounts as (
    select * from dim_account
),

monthly as (
    select
        date_trunc('month', invoice_date)::date as month_start,
        account_key,
        sum(revenue_usd) * 12 as arr_usd
    from revenue
    group by 1, 2
),

last_month as (
    select month_start from dim_last_subscription_month
),

account_months as (
    select month_start, account_key from monthly
    union
    select (month_start + interval '1 month')::date, account_key from monthly
    union
    select (month_start + interval '12 months')::date, account_key from monthly
),

joined as (
    select
        account_months.month_start,
        account_months.account_key,
        coalesce(now_.arr_usd, 0) as arr_usd,
        coalesce(month_before.arr_usd, 0) as arr_prior_month_usd,
        coalesce(year_before.arr_usd, 0) as arr_12m_ago_usd
    from account_months
    left join monthly as now_
        on now_.account_key = account_months.account_key
        and now_.month_start = account_months.month_start
    left join monthly as month_before
        on month_before.account_key = account_months.account_key
        and month_before.month_start = (account_months.month_start - interval '1 month')::date
    left join monthly as year_before
        on year_before.account_key = account_months.account_key
        and year_before.month_start = (account_months.month_start - interval '12 months')::date
    where account_months.month_start <= (select month_start from last_month)
)

select
    joined.month_start,
    joined.account_key,
    coalesce(accounts.segment, 'smb') as segment,
    coalesce(accounts.region, 'other') as region,
    joined.arr_usd,
    joined.arr_12m_ago_usd,
    case when joined.arr_12m_ago_usd > 0 then joined.arr_usd else 0 end as net_retained_arr_usd,
    least(joined.arr_usd, joined.arr_12m_ago_usd) as gross_retained_arr_usd,
    joined.arr_prior_month_usd,
    -- The month's movement, one of four (or none): ARR now = ARR last month + new + expansion
    -- − contraction − churned, account by account.
    case when joined.arr_prior_month_usd = 0 then joined.arr_usd else 0 end as new_arr_usd,
    case
        when joined.arr_prior_month_usd > 0 then greatest(joined.arr_usd - joined.arr_prior_month_usd, 0)
        else 0
    end as expansion_arr_usd,
    case
        when joined.arr_usd > 0 then greatest(joined.arr_prior_month_usd - joined.arr_usd, 0)
        else 0
    end as contraction_arr_usd,
    case when joined.arr_usd = 0 then joined.arr_prior_month_usd else 0 end as churned_arr_usd
from joined
left join accounts using (account_key)
