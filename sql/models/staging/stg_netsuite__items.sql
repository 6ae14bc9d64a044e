-- NetSuite items (the product catalogue), one row per item; cost and price in USD.

select
    source_id as item_id,
    record ->> 'itemid' as sku,
    coalesce(nullif(trim(record ->> 'displayname'), ''), record ->> 'itemid') as item_name,
    record ->> 'itemtype' as item_type,
    (record ->> 'cost')::numeric as unit_cost_usd,
    (record ->> 'baseprice')::numeric as list_price_usd,
    coalesce(record ->> 'isinactive', 'F') = 'T' as is_inactive
from raw.netsuite__items
where not is_deleted
