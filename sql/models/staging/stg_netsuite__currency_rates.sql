-- The ERP's daily exchange rates: USD per unit of each transaction currency, one row per
-- currency and effective date (the newest record wins if a day was entered twice).

select distinct on (upper(record ->> 'transactioncurrency'), to_date(record ->> 'effectivedate', 'MM/DD/YYYY'))
    upper(record ->> 'transactioncurrency') as currency_code,
    to_date(record ->> 'effectivedate', 'MM/DD/YYYY') as effective_date,
    (record ->> 'exchangerate')::numeric as usd_per_unit
from raw.netsuite__currency_rates
where not is_deleted
    and upper(record ->> 'basecurrency') = 'USD'
    and record ->> 'exchangerate' is not null
order by
    upper(record ->> 'transactioncurrency'),
    to_date(record ->> 'effectivedate', 'MM/DD/YYYY'),
    source_updated_at desc,
    source_id desc
