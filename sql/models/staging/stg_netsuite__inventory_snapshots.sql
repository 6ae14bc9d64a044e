-- Month-end inventory of stocked items, one row per item and snapshot; cost in USD.

select
    source_id as snapshot_id,
    record ->> 'item' as item_id,
    to_date(record ->> 'snapshotdate', 'MM/DD/YYYY') as snapshot_date,
    (record ->> 'quantityonhand')::numeric as quantity_on_hand,
    (record ->> 'averagecost')::numeric as average_cost_usd
from raw.netsuite__inventory_snapshots
where not is_deleted
