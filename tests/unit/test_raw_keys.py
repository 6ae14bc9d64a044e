"""Every key is checked before a record can reach raw: a missing, null or non-scalar id sends
the record to quarantine with a reason, whatever the object."""

from __future__ import annotations

import pytest

from revenue_os.raw.loader import MalformedRecord, _parse
from revenue_os.raw.objects import RAW_OBJECTS


@pytest.mark.parametrize(
    ("object_name", "record", "reason"),
    [
        # LinkedIn serves a campaign whose id is null: str(None) must not key it "None".
        ("linkedin_ads.campaigns", {"id": None, "name": "c"}, "key campaign_id is missing"),
        ("linkedin_ads.campaigns", {"id": "None", "name": "c"}, "key campaign_id is missing"),
        (
            "hubspot.contacts",
            {"id": {"nested": 1}, "updatedAt": "2026-01-01T00:00:00Z"},
            "key source_id is a dict, not an id",
        ),
        (
            "salesforce.accounts",
            {"Id": "  ", "SystemModstamp": "2026-01-01T00:00:00.000+0000"},
            "key source_id is missing",
        ),
    ],
)
def test_a_record_without_a_usable_key_is_malformed(object_name, record, reason):
    with pytest.raises(MalformedRecord, match=f"^{reason}$"):
        _parse(RAW_OBJECTS[object_name], record)


def test_a_record_with_its_keys_parses():
    keys, _, deleted = _parse(RAW_OBJECTS["linkedin_ads.campaigns"], {"id": 501, "name": "c"})
    assert (keys, deleted) == (["501"], False)
