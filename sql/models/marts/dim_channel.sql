-- The governed channel taxonomy (sql/seeds/channel_taxonomy.csv).

select
    channel,
    channel_label,
    channel_group,
    is_paid::boolean as is_paid,
    is_marketing::boolean as is_marketing,
    sort_order::integer as sort_order
from seed_channel_taxonomy
