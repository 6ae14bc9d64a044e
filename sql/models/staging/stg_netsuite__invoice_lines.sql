-- NetSuite invoice lines, one row per line. SuiteQL books sales as negative netamount in the
-- transaction currency: revenue is its negation. exchangerate is the rate the ERP booked
-- (transaction currency to USD); costestimate is already in USD.

select
    source_id as invoice_line_id,
    record ->> 'transaction' as invoice_id,
    record ->> 'tranid' as invoice_number,
    (record ->> 'linesequence')::integer as line_number,
    to_date(record ->> 'trandate', 'MM/DD/YYYY') as invoice_date,
    record ->> 'entity' as customer_id,
    record ->> 'item' as item_id,
    (record ->> 'quantity')::numeric as quantity,
    upper(record ->> 'currency') as currency_code,
    -(record ->> 'netamount')::numeric as revenue_local,
    (record ->> 'exchangerate')::numeric as booked_usd_per_unit,
    (record ->> 'costestimate')::numeric as cost_estimate_usd
from raw.netsuite__invoice_lines
where not is_deleted
