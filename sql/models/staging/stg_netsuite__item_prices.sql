-- NetSuite item prices, one row per item and currency at the base price level: the list price
-- in the currency an invoice line is billed in.

select
    record ->> 'item' as item_id,
    upper(record ->> 'currency') as currency_code,
    (record ->> 'unitprice')::numeric as list_price_local
from raw.netsuite__item_prices
where not is_deleted
    and coalesce(record ->> 'pricelevel', 'Base Price') = 'Base Price'
