-- Month-end stock of each stocked product, valued at its average cost (else unit cost).

with snapshots as (
    select * from stg_netsuite__inventory_snapshots
),

products as (
    select * from dim_product
)

select distinct on (snapshots.snapshot_date, snapshots.item_id)
    snapshots.snapshot_date,
    snapshots.item_id as product_id,
    coalesce(products.product_family, 'hardware') as product_family,
    snapshots.quantity_on_hand,
    coalesce(snapshots.average_cost_usd, products.unit_cost_usd) as average_cost_usd,
    round(snapshots.quantity_on_hand * coalesce(snapshots.average_cost_usd, products.unit_cost_usd), 2)
        as inventory_value_usd
from snapshots
left join products on products.product_id = snapshots.item_id
order by snapshots.snapshot_date, snapshots.item_id, snapshots.snapshot_id desc
