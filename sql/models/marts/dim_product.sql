-- The product catalogue from NetSuite items, with the governed product family
-- (sql/seeds/product_families.csv; stocked items not listed there count as hardware).

with items as (
    select * from stg_netsuite__items
),

families as (
    select * from seed_product_families
)

select
    items.item_id as product_id,
    items.sku,
    items.item_name as product_name,
    coalesce(
        families.product_family,
        case when items.item_type = 'InvtPart' then 'hardware' else 'services' end
    ) as product_family,
    items.unit_cost_usd,
    items.list_price_usd,
    items.item_type = 'InvtPart' as is_stocked
from items
left join families on families.sku = items.sku
