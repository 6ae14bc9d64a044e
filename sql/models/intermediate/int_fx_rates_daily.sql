-- USD per unit of each currency for every day: the ERP's rate of that day, else the latest
-- rate before it (weekends, holidays), else the earliest known rate. USD is 1.

with rates as (
    select * from stg_netsuite__currency_rates
),

days as (
    select generate_series(
        (select min(effective_date) from rates) - 3650,
        (select max(effective_date) from rates) + 1095,
        interval '1 day'
    )::date as date_day
),

currencies as (
    select distinct currency_code from rates where currency_code <> '{{ reporting_currency }}'
),

rate_of_day as (
    select
        currencies.currency_code,
        days.date_day,
        rates.usd_per_unit,
        count(rates.usd_per_unit) over (
            partition by currencies.currency_code order by days.date_day
        ) as rate_group
    from currencies
    cross join days
    left join rates
        on rates.currency_code = currencies.currency_code
        and rates.effective_date = days.date_day
),

earliest_rate as (
    select distinct on (currency_code) currency_code, usd_per_unit
    from rates
    order by currency_code, effective_date
),

carried_forward as (
    select
        rate_of_day.currency_code,
        rate_of_day.date_day,
        coalesce(
            max(rate_of_day.usd_per_unit) over (
                partition by rate_of_day.currency_code, rate_of_day.rate_group
            ),
            earliest_rate.usd_per_unit
        ) as usd_per_unit
    from rate_of_day
    join earliest_rate using (currency_code)
)

select currency_code, date_day, usd_per_unit from carried_forward
union all
select '{{ reporting_currency }}', date_day, 1 from days
