-- The governed channel mapping (sql/seeds/channel_mapping.csv) with values normalised the
-- way they are looked up: trimmed and lower-cased, '*' matching any value.

select
    mapping.source_system,
    lower(trim(mapping.source_value)) as source_value,
    lower(trim(mapping.medium_value)) as medium_value,
    mapping.channel
from seed_channel_mapping as mapping
join seed_channel_taxonomy as taxonomy using (channel)
