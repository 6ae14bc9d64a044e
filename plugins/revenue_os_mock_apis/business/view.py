"""The business at one moment, as the vendors' APIs see it.

Every record carries the times at which things happen to it (created, stage changes, edits,
merged, deleted); a view at `now_ms` keeps what happened before `now_ms`. The same view is
what a full pull returns, and the difference of two views is exactly what an incremental pull
over the time between them returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from revenue_os_mock_apis.business.core import (
    DAY_MS,
    HOUR_MS,
    NEVER,
    NULL_INT,
    Column,
    Frame,
    Kind,
    latest_before,
    obj_array,
    segment_last_before,
    unit_noise,
)
from revenue_os_mock_apis.business.finance import SUBSIDIARY_BY_CURRENCY
from revenue_os_mock_apis.business.marketing import (
    ALWAYS_ON_END,
    GOOGLE_KINDS,
    KIND_LINKEDIN,
)
from revenue_os_mock_apis.business.people import LIFECYCLE_STAGES, SOURCES
from revenue_os_mock_apis.business.pipeline import (
    FORECAST_CATEGORIES,
    ITEMS,
    LOST,
    PRICE_BOOK,
    STAGES,
    WON,
)

if TYPE_CHECKING:
    from revenue_os_mock_apis.business import Business

# How many trailing days each ad platform still restates, and by how much at most.
RESTATEMENT_DAYS = {"google_ads": 7, "linkedin_ads": 3}
HUBSPOT_DATE_PROPERTIES = (
    "hs_lifecyclestage_lead_date",
    "hs_lifecyclestage_marketingqualifiedlead_date",
    "hs_lifecyclestage_salesqualifiedlead_date",
    "hs_lifecyclestage_opportunity_date",
    "hs_lifecyclestage_customer_date",
)
SALESFORCE_OBJECTS = {
    "Account": "salesforce.accounts",
    "Contact": "salesforce.contacts",
    "Opportunity": "salesforce.opportunities",
    "OpportunityHistory": "salesforce.opportunity_history",
    "Campaign": "salesforce.campaigns",
}
NETSUITE_TABLES = {
    "customer": "netsuite.customers",
    "item": "netsuite.items",
    "invoiceline": "netsuite.invoice_lines",
    "inventorysnapshot": "netsuite.inventory_snapshots",
    "currencyrate": "netsuite.currency_rates",
    "pricing": "netsuite.item_prices",
}
FRAME_OBJECTS = (
    "hubspot.contacts",
    *SALESFORCE_OBJECTS.values(),
    *NETSUITE_TABLES.values(),
)


@dataclass
class AdRows:
    """Ad campaign-days visible at a moment, with the metrics as restated at that moment."""

    row: np.ndarray  # index into Programs.days
    program: np.ndarray
    day: np.ndarray  # days since 1970
    impressions: np.ndarray
    clicks: np.ndarray
    cost: np.ndarray
    conversions: np.ndarray
    conversion_value: np.ndarray


def _max_times(now_ms: int, *columns: np.ndarray) -> np.ndarray:
    """Row-wise latest of the given times (1-D or 2-D) that are before now."""
    parts = [c[:, None] if c.ndim == 1 else c for c in columns]
    return latest_before(np.concatenate(parts, axis=1), now_ms)


def _ms_string_column(values: np.ndarray) -> Column:
    return Column(Kind.DATETIME, values.astype(np.int64))


class BusinessView:
    """Lazily built, cached frames of every source object at `now_ms`."""

    def __init__(self, business: Business, now_ms: int):
        self.business = business
        self.now_ms = int(now_ms)
        self._frames: dict[str, Frame] = {}

    @property
    def now_day(self) -> int:
        """Days since 1970 of the first day not yet over (ads report up to the day before)."""
        return self.now_ms // DAY_MS

    def frame(self, name: str) -> Frame:
        if name not in self._frames:
            builder = getattr(self, "_frame_" + name.replace(".", "_"))
            self._frames[name] = builder()
        return self._frames[name]

    # ----------------------------------------------------------------------------------------
    # HubSpot

    def _frame_hubspot_contacts(self) -> Frame:
        b, now = self.business, self.now_ms
        c = b.contacts
        visible = c.visible_ms < now
        archived = c.archived_ms < now
        stage_visible = np.where(c.stage_ms < now, c.stage_ms, NEVER)
        reached = (stage_visible < NEVER).sum(axis=1)
        # Stages are reached in order; the count of reached ones is the lifecycle stage.
        modified = _max_times(now, c.visible_ms, c.stage_ms, c.sync_ms, c.edit_ms, c.archived_ms)
        modified = np.maximum(modified, c.visible_ms)
        synced = (c.sync_ms < now) & (c.sf_contact >= 0)
        sf_ids = np.full(c.size, None, dtype=object)
        sf_ids[synced] = b.contact_id[c.sf_contact[synced]]
        company = b.companies.name[c.company].copy()
        company[(c.company % 10) == 3] = None  # forms that do not ask for it
        hs_id = b.hs_id
        columns = {
            "id": Column(Kind.INT, hs_id),
            "hs_object_id": Column(Kind.INT, hs_id),
            "email": Column(Kind.STR, c.email),
            "firstname": Column(Kind.STR, c.first),
            "lastname": Column(Kind.STR, c.last),
            "company": Column(Kind.STR, company),
            "jobtitle": Column(Kind.STR, c.jobtitle),
            "lifecyclestage": Column(Kind.STR, np.array(LIFECYCLE_STAGES, dtype=object)[reached]),
            "hs_analytics_source": Column(Kind.STR, np.array(SOURCES, dtype=object)[c.source]),
            "hs_analytics_source_data_1": Column(Kind.STR, c.source_data_1),
            "utm_source": Column(Kind.STR, c.utm_source),
            "utm_medium": Column(Kind.STR, c.utm_medium),
            "utm_campaign": Column(Kind.STR, c.utm_campaign),
            "country": Column(Kind.STR, c.country_text),
            "createdate": Column(Kind.DATETIME, c.created_ms),
            "lastmodifieddate": Column(Kind.DATETIME, modified),
            "salesforcecontactid": Column(Kind.STR, sf_ids),
            "archived": Column(Kind.BOOL, archived),
            "archivedAt": Column(Kind.DATETIME, np.where(archived, c.archived_ms, NULL_INT)),
        }
        for k, name in enumerate(HUBSPOT_DATE_PROPERTIES):
            columns[name] = Column(
                Kind.DATETIME, np.where(stage_visible[:, k] < NEVER, stage_visible[:, k], NULL_INT)
            )
        return Frame(
            name="hubspot.contacts",
            columns=columns,
            visible=visible,
            deleted=archived & visible,
            modified=modified,
            order=b.hs_order,
            key="id",
        )

    def events_upper(self) -> int:
        """Events with occurredAt before now are the first `events_upper()` rows."""
        return int(np.searchsorted(self.business.touches.occurred_ms, self.now_ms, side="left"))

    # ----------------------------------------------------------------------------------------
    # Salesforce

    @cached_property
    def _account_state(self):
        p, now = self.business.pipeline, self.now_ms
        deleted = p.acct_deleted_ms < now
        winner_merge = np.full(p.acct_company.size, NEVER, dtype=np.int64)
        losers = np.flatnonzero(p.acct_merged_into >= 0)
        for loser in losers.tolist():  # a handful: merges are rare
            w = p.acct_merged_into[loser]
            winner_merge[w] = min(winner_merge[w], p.acct_deleted_ms[loser])
        edits = np.where(p.acct_edit_ms < p.acct_deleted_ms[:, None], p.acct_edit_ms, NEVER)
        modified = _max_times(
            now, p.acct_created_ms, p.acct_ext_ms, p.acct_deleted_ms, winner_merge, edits
        )
        return deleted, modified

    def _frame_salesforce_accounts(self) -> Frame:
        b, now = self.business, self.now_ms
        p, f = b.pipeline, b.finance
        deleted, modified = self._account_state
        ext = np.full(p.acct_company.size, None, dtype=object)
        has_ext = (p.acct_ext_ms < now) & (p.acct_ext_customer >= 0)
        ext[has_ext] = obj_array(str(x) for x in f.cust_id[p.acct_ext_customer[has_ext]])
        master = np.full(p.acct_company.size, None, dtype=object)
        merged = deleted & (p.acct_merged_into >= 0)
        master[merged] = b.account_id[p.acct_merged_into[merged]]
        employees = np.where(p.acct_employees < 0, NULL_INT, p.acct_employees)
        columns = {
            "Id": Column(Kind.ID, b.account_id),
            "Name": Column(Kind.STR, p.acct_name),
            "Website": Column(Kind.STR, p.acct_website),
            "Industry": Column(Kind.STR, p.acct_industry),
            "NumberOfEmployees": Column(Kind.INT, employees),
            "BillingCountry": Column(Kind.STR, p.acct_country),
            "AnnualRevenue": Column(Kind.FLOAT, p.acct_revenue),
            "CurrencyIsoCode": Column(Kind.STR, p.acct_currency),
            "OwnerId": Column(Kind.ID, p.acct_owner),
            "External_Id__c": Column(Kind.STR, ext),
            "CreatedDate": Column(Kind.DATETIME, p.acct_created_ms),
            "SystemModstamp": Column(Kind.DATETIME, modified),
            "LastModifiedDate": Column(Kind.DATETIME, modified),
            "IsDeleted": Column(Kind.BOOL, deleted),
            "MasterRecordId": Column(Kind.ID, master),
        }
        return self._sf_frame("salesforce.accounts", columns, p.acct_created_ms, deleted, modified)

    def _sf_frame(self, name, columns, visible_ms, deleted, modified) -> Frame:
        visible = visible_ms < self.now_ms
        ids = columns["Id"].values
        order = np.argsort(ids.astype(str), kind="stable")
        return Frame(name, columns, visible, deleted & visible, modified, order, key="Id")

    def _frame_salesforce_contacts(self) -> Frame:
        b, now = self.business, self.now_ms
        p = b.pipeline
        deleted = p.con_deleted_ms < now
        moved = p.con_reparent_ms < now
        account = np.where(moved, p.con_account_after, p.con_account_before)
        winner_merge = np.full(p.con_hs.size, NEVER, dtype=np.int64)
        for loser in np.flatnonzero(p.con_merged_into >= 0).tolist():
            w = p.con_merged_into[loser]
            winner_merge[w] = min(winner_merge[w], p.con_deleted_ms[loser])
        edits = np.where(p.con_edit_ms < p.con_deleted_ms[:, None], p.con_edit_ms, NEVER)
        modified = _max_times(
            now, p.con_visible_ms, p.con_reparent_ms, p.con_deleted_ms, winner_merge, edits
        )
        master = np.full(p.con_hs.size, None, dtype=object)
        merged = deleted & (p.con_merged_into >= 0)
        master[merged] = b.contact_id[p.con_merged_into[merged]]
        columns = {
            "Id": Column(Kind.ID, b.contact_id),
            "AccountId": Column(Kind.ID, b.account_id[account]),
            "FirstName": Column(Kind.STR, p.con_first),
            "LastName": Column(Kind.STR, p.con_last),
            "Email": Column(Kind.STR, p.con_email),
            "LeadSource": Column(Kind.STR, p.con_lead_source),
            "CreatedDate": Column(Kind.DATETIME, p.con_created_ms),
            "SystemModstamp": Column(Kind.DATETIME, modified),
            "LastModifiedDate": Column(Kind.DATETIME, modified),
            "IsDeleted": Column(Kind.BOOL, deleted),
            "MasterRecordId": Column(Kind.ID, master),
        }
        return self._sf_frame("salesforce.contacts", columns, p.con_visible_ms, deleted, modified)

    def _frame_salesforce_opportunities(self) -> Frame:
        b, now = self.business, self.now_ms
        p = b.pipeline
        last = segment_last_before(p.opp_hist_start, p.hist_ms, now)
        has = last >= 0
        at = np.maximum(last, 0)
        stage = np.where(has, p.hist_stage[at], 0)
        deleted = p.opp_deleted_ms < now
        moved = p.opp_reparent_ms < now
        account = np.where(moved, p.opp_account_after, p.opp_account_before)
        last_change = np.where(has, p.hist_ms[at], NULL_INT)
        modified = _max_times(
            now, p.opp_visible_ms, last_change, p.opp_reparent_ms, p.opp_deleted_ms, p.opp_edit_ms
        )
        campaign = np.full(p.opp_type.size, None, dtype=object)
        with_campaign = p.opp_program >= 0
        campaign[with_campaign] = b.campaign_id[p.opp_program[with_campaign]]
        contact = np.full(p.opp_type.size, None, dtype=object)
        with_contact = p.opp_contact >= 0
        contact[with_contact] = b.contact_id[p.opp_contact[with_contact]]
        closed = stage >= WON
        columns = {
            "Id": Column(Kind.ID, b.opportunity_id),
            "AccountId": Column(Kind.ID, b.account_id[account]),
            "Name": Column(Kind.STR, p.opp_name),
            "StageName": Column(Kind.STR, np.array(STAGES, dtype=object)[stage]),
            "Amount": Column(Kind.FLOAT, np.where(has, p.hist_amount[at], np.nan)),
            "CurrencyIsoCode": Column(Kind.STR, p.opp_currency),
            "CloseDate": Column(Kind.DATE, np.where(has, p.hist_close_day[at], NULL_INT)),
            "IsClosed": Column(Kind.BOOL, closed),
            "IsWon": Column(Kind.BOOL, stage == WON),
            "ForecastCategoryName": Column(
                Kind.STR,
                np.where(
                    p.opp_committed_by_hand & ~closed,
                    "Commit",
                    np.array(FORECAST_CATEGORIES, dtype=object)[stage],
                ),
            ),
            "NextStep": Column(Kind.STR, np.where(closed, None, p.opp_next_step)),
            "Loss_Reason__c": Column(Kind.STR, np.where(stage == LOST, p.opp_loss_reason, None)),
            "Renewal_Date__c": Column(Kind.DATE, p.opp_renewal_day),
            "Type": Column(Kind.STR, p.opp_type),
            "LeadSource": Column(Kind.STR, p.opp_lead_source),
            "CampaignId": Column(Kind.ID, campaign),
            "ContactId": Column(Kind.ID, contact),
            "OwnerId": Column(Kind.ID, p.opp_owner),
            "CreatedDate": Column(Kind.DATETIME, p.opp_created_ms),
            "SystemModstamp": Column(Kind.DATETIME, modified),
            "LastModifiedDate": Column(Kind.DATETIME, modified),
            "IsDeleted": Column(Kind.BOOL, deleted),
        }
        return self._sf_frame(
            "salesforce.opportunities", columns, p.opp_visible_ms, deleted, modified
        )

    def _frame_salesforce_opportunity_history(self) -> Frame:
        b, now = self.business, self.now_ms
        p = b.pipeline
        opp_deleted_ms = p.opp_deleted_ms[p.hist_opp]
        deleted = opp_deleted_ms < now
        modified = np.where(deleted, opp_deleted_ms, p.hist_ms)
        columns = {
            "Id": Column(Kind.ID, b.history_id),
            "OpportunityId": Column(Kind.ID, b.opportunity_id[p.hist_opp]),
            "StageName": Column(Kind.STR, np.array(STAGES, dtype=object)[p.hist_stage]),
            "Amount": Column(Kind.FLOAT, p.hist_amount),
            "CloseDate": Column(Kind.DATE, p.hist_close_day),
            # The stage's forecast category then; a deal a rep moved to Commit by hand was
            # Commit in every open row.
            "ForecastCategory": Column(
                Kind.STR,
                np.where(
                    p.opp_committed_by_hand[p.hist_opp] & (p.hist_stage < WON),
                    "Commit",
                    np.array(FORECAST_CATEGORIES, dtype=object)[p.hist_stage],
                ),
            ),
            "CreatedDate": Column(Kind.DATETIME, p.hist_ms),
            "SystemModstamp": Column(Kind.DATETIME, modified),
            "IsDeleted": Column(Kind.BOOL, deleted),
        }
        return self._sf_frame(
            "salesforce.opportunity_history", columns, p.hist_ms, deleted, modified
        )

    def campaign_times(self) -> tuple[np.ndarray, np.ndarray]:
        """When each programme starts and ends, in ms (NEVER for always-on)."""
        b = self.business
        pr, cal = b.programs, b.calendar
        start = cal.start_ms + pr.start_day * DAY_MS + 9 * HOUR_MS
        end = np.where(
            pr.end_day >= ALWAYS_ON_END, NEVER, cal.start_ms + pr.end_day * DAY_MS + 9 * HOUR_MS
        )
        return start, end

    def _frame_salesforce_campaigns(self) -> Frame:
        b, now = self.business, self.now_ms
        pr, cal = b.programs, b.calendar
        start, end = self.campaign_times()
        status = np.where(
            now < start,
            "Planned",
            np.where(now < end, "In Progress", np.where(pr.aborted, "Aborted", "Completed")),
        ).astype(object)
        modified = _max_times(now, pr.created_ms, start, end)
        start_day = cal.start_ms // DAY_MS + pr.start_day
        end_day = np.where(
            pr.end_day >= ALWAYS_ON_END, NULL_INT, cal.start_ms // DAY_MS + pr.end_day - 1
        )
        columns = {
            "Id": Column(Kind.ID, b.campaign_id),
            "Name": Column(Kind.STR, pr.name),
            "Type": Column(Kind.STR, pr.sf_type),
            "Status": Column(Kind.STR, status),
            "IsActive": Column(Kind.BOOL, (start <= now) & (now < end)),
            "StartDate": Column(Kind.DATE, start_day),
            "EndDate": Column(Kind.DATE, end_day),
            "CreatedDate": Column(Kind.DATETIME, pr.created_ms),
            "SystemModstamp": Column(Kind.DATETIME, modified),
            "LastModifiedDate": Column(Kind.DATETIME, modified),
            "IsDeleted": Column(Kind.BOOL, np.zeros(pr.size, dtype=bool)),
        }
        return self._sf_frame(
            "salesforce.campaigns", columns, pr.created_ms, np.zeros(pr.size, dtype=bool), modified
        )

    # ----------------------------------------------------------------------------------------
    # NetSuite

    def _ns_frame(self, name, columns, visible_ms, modified, numeric_key: bool) -> Frame:
        visible = visible_ms < self.now_ms
        key = columns["id"].values
        order = np.argsort(key if numeric_key else key.astype(str), kind="stable")
        deleted = np.zeros(visible.size, dtype=bool)
        return Frame(name, columns, visible, deleted, modified, order, key="id")

    def _frame_netsuite_customers(self) -> Frame:
        b, now = self.business, self.now_ms
        f = b.finance
        inactive = (f.cust_inactive_ms < now) & ~(
            (f.cust_reactivated_ms < now) & (f.cust_reactivated_ms > f.cust_inactive_ms)
        )
        modified = _max_times(
            now, f.cust_created_ms, f.cust_inactive_ms, f.cust_reactivated_ms, f.cust_edit_ms
        )
        external = np.full(f.cust_id.size, None, dtype=object)
        linked = f.cust_account >= 0
        external[linked] = b.account_id[f.cust_account[linked]]
        columns = {
            "id": Column(Kind.INT, f.cust_id),
            "entityid": Column(Kind.STR, obj_array(f"CUS-{x}" for x in f.cust_id)),
            "companyname": Column(Kind.STR, f.cust_name),
            "email": Column(Kind.STR, f.cust_email),
            "externalid": Column(Kind.STR, external),
            "subsidiary": Column(
                Kind.STR, obj_array(SUBSIDIARY_BY_CURRENCY[c] for c in f.cust_currency)
            ),
            "currency": Column(Kind.STR, f.cust_currency),
            "isinactive": Column(Kind.BOOL, inactive),
            "datecreated": Column(Kind.DATETIME, f.cust_created_ms),
            "lastmodifieddate": Column(Kind.DATETIME, modified),
        }
        return self._ns_frame("netsuite.customers", columns, f.cust_created_ms, modified, True)

    def _frame_netsuite_items(self) -> Frame:
        f = self.business.finance
        modified = np.where(f.item_modified_ms < self.now_ms, f.item_modified_ms, f.item_created_ms)
        columns = {
            "id": Column(Kind.INT, f.item_id),
            "itemid": Column(Kind.STR, obj_array(item[0] for item in ITEMS)),
            "displayname": Column(Kind.STR, obj_array(item[1] for item in ITEMS)),
            "itemtype": Column(Kind.STR, obj_array(item[2] for item in ITEMS)),
            "cost": Column(Kind.FLOAT, np.array([item[3] for item in ITEMS])),
            "baseprice": Column(Kind.FLOAT, np.array([item[4] for item in ITEMS])),
            "isinactive": Column(Kind.BOOL, np.zeros(len(ITEMS), dtype=bool)),
            "lastmodifieddate": Column(Kind.DATETIME, modified),
        }
        return self._ns_frame("netsuite.items", columns, f.item_created_ms, modified, True)

    def _frame_netsuite_item_prices(self) -> Frame:
        """The base price level of each item in each currency (SuiteQL `pricing`): list prices
        are set per market, so a EUR price is not the USD one converted."""
        f = self.business.finance
        currencies = tuple(PRICE_BOOK)
        item = np.repeat(np.arange(len(ITEMS)), len(currencies))
        currency = np.tile(np.arange(len(currencies)), len(ITEMS))
        price = np.array(
            [
                round(ITEMS[i][4] * PRICE_BOOK[currencies[c]], 2)
                for i, c in zip(item, currency, strict=True)
            ]
        )
        created = f.item_created_ms[item]
        modified = np.where(
            f.item_modified_ms[item] < self.now_ms, f.item_modified_ms[item], created
        )
        columns = {
            "id": Column(Kind.INT, f.item_id[item] * 10 + currency + 1),
            "item": Column(Kind.INT, f.item_id[item]),
            "currency": Column(Kind.STR, np.array(currencies, dtype=object)[currency]),
            "pricelevel": Column(Kind.STR, np.full(item.size, "Base Price", dtype=object)),
            "unitprice": Column(Kind.FLOAT, price),
            "lastmodifieddate": Column(Kind.DATETIME, modified),
        }
        return self._ns_frame("netsuite.item_prices", columns, created, modified, True)

    def _frame_netsuite_invoice_lines(self) -> Frame:
        b, now = self.business, self.now_ms
        f = b.finance
        modified = np.where(f.line_edit_ms < now, f.line_edit_ms, f.line_created_ms)
        amount = np.round(f.line_qty * f.line_rate, 2)
        columns = {
            "id": Column(Kind.STR, f.line_id),
            "transaction": Column(Kind.INT, f.line_transaction),
            "tranid": Column(Kind.STR, f.line_tranid),
            "type": Column(Kind.STR, np.full(f.line_id.size, "CustInvc", dtype=object)),
            "linesequence": Column(Kind.INT, f.line_seq),
            "trandate": Column(Kind.DATE, f.line_trandate),
            "entity": Column(Kind.INT, f.cust_id[f.line_customer]),
            "item": Column(Kind.INT, f.item_id[f.line_item]),
            "quantity": Column(Kind.FLOAT, f.line_qty),
            "rate": Column(Kind.FLOAT, f.line_rate),
            # Sales lines post as credits: NetSuite's netamount is negative for them.
            "netamount": Column(Kind.FLOAT, -amount),
            "costestimate": Column(Kind.FLOAT, f.line_cost),
            "currency": Column(Kind.STR, f.cust_currency[f.line_customer]),
            "exchangerate": Column(Kind.FLOAT, f.line_exchange_rate),
            "lastmodifieddate": Column(Kind.DATETIME, modified),
        }
        return self._ns_frame("netsuite.invoice_lines", columns, f.line_created_ms, modified, False)

    def _frame_netsuite_inventory_snapshots(self) -> Frame:
        f = self.business.finance
        modified = np.where(f.snap_edit_ms < self.now_ms, f.snap_edit_ms, f.snap_created_ms)
        n = f.snap_item.size
        columns = {
            "id": Column(Kind.INT, 5000 + np.arange(n, dtype=np.int64)),
            "item": Column(Kind.INT, f.item_id[f.snap_item]),
            "snapshotdate": Column(Kind.DATE, f.snap_day),
            "quantityonhand": Column(Kind.FLOAT, f.snap_quantity),
            "averagecost": Column(Kind.FLOAT, f.snap_average_cost),
            "lastmodifieddate": Column(Kind.DATETIME, modified),
        }
        return self._ns_frame(
            "netsuite.inventory_snapshots", columns, f.snap_created_ms, modified, True
        )

    def _frame_netsuite_currency_rates(self) -> Frame:
        f = self.business.finance
        n = f.rate_day.size
        columns = {
            "id": Column(Kind.INT, 1 + np.arange(n, dtype=np.int64)),
            "basecurrency": Column(Kind.STR, np.full(n, "USD", dtype=object)),
            "transactioncurrency": Column(Kind.STR, f.rate_currency),
            "effectivedate": Column(Kind.DATE, f.rate_day),
            "exchangerate": Column(Kind.FLOAT, f.rate_value),
            "lastmodifieddate": Column(Kind.DATETIME, f.rate_created_ms),
        }
        return self._ns_frame(
            "netsuite.currency_rates", columns, f.rate_created_ms, f.rate_created_ms, True
        )

    # ----------------------------------------------------------------------------------------
    # Ad platforms

    def ad_rows(self, platform: str) -> AdRows:
        """Campaign-days reported so far (days before today), as restated today."""
        key = f"ads:{platform}"
        if key in self._frames:
            return self._frames[key]  # type: ignore[return-value]
        b = self.business
        days, pr = b.programs.days, b.programs
        start_day = b.calendar.start_ms // DAY_MS
        absolute_day = start_day + days.day
        kinds = pr.kind[days.program]
        mine = np.isin(kinds, GOOGLE_KINDS) if platform == "google_ads" else kinds == KIND_LINKEDIN
        rows = np.flatnonzero(mine & (absolute_day < self.now_day))
        age = self.now_day - absolute_day[rows]
        window = RESTATEMENT_DAYS[platform]
        settling = np.clip((window - age + 1) / window, 0.0, 1.0)
        salt = b.seed * 7919 + (1 if platform == "google_ads" else 2)
        token = rows.astype(np.int64) * 64 + age
        conversion_factor = 1.0 - 0.35 * settling * unit_noise(token, salt)
        cost_factor = 1.0 + 0.04 * settling * unit_noise(token, salt + 1)
        click_factor = 1.0 + 0.03 * settling * unit_noise(token, salt + 2)
        conversions = days.conversions[rows] * conversion_factor
        if platform == "google_ads":
            conversions = np.round(conversions, 2)
            value = np.round(days.conversion_value[rows] * conversion_factor, 2)
        else:
            conversions = np.floor(conversions)
            value = days.conversion_value[rows]
        result = AdRows(
            row=rows,
            program=days.program[rows],
            day=absolute_day[rows],
            impressions=days.impressions[rows],
            clicks=np.round(days.clicks[rows] * click_factor).astype(np.int64),
            cost=np.round(days.cost[rows] * cost_factor, 2),
            conversions=conversions,
            conversion_value=value,
        )
        self._frames[key] = result  # type: ignore[assignment]
        return result

    def programs_visible(self, kinds: tuple[int, ...]) -> np.ndarray:
        pr = self.business.programs
        return np.flatnonzero(np.isin(pr.kind, kinds) & (pr.created_ms < self.now_ms))

    # ----------------------------------------------------------------------------------------
    # Counts

    def counts(self) -> dict[str, dict[str, int]]:
        """Exactly what a full pull of each object returns now."""
        out: dict[str, dict[str, int]] = {}
        for name in FRAME_OBJECTS:
            frame = self.frame(name)
            total = int(frame.visible.sum())
            deleted = int(frame.deleted.sum())
            out[name] = {"total": total, "live": total - deleted, "deleted": deleted}
        events = self.events_upper()
        out["hubspot.events"] = {"total": events, "live": events, "deleted": 0}
        for platform in ("google_ads", "linkedin_ads"):
            rows = self.ad_rows(platform)
            n = int(rows.row.size)
            out[f"{platform}.campaign_days"] = {"total": n, "live": n, "deleted": 0}
        google = self.programs_visible(GOOGLE_KINDS).size
        linkedin = self.programs_visible((KIND_LINKEDIN,)).size
        out["google_ads.campaigns"] = {"total": google, "live": google, "deleted": 0}
        out["linkedin_ads.campaigns"] = {"total": linkedin, "live": linkedin, "deleted": 0}
        return out

    def modified_since(self, since_ms: int) -> dict[str, int]:
        """Records an incremental pull from `since_ms` returns (deleted ones included)."""
        out = {}
        for name in FRAME_OBJECTS:
            frame = self.frame(name)
            out[name] = int((frame.visible & (frame.modified >= since_ms)).sum())
        touches = self.business.touches.occurred_ms
        out["hubspot.events"] = int(
            np.searchsorted(touches, self.now_ms) - np.searchsorted(touches, since_ms)
        )
        return out


def diff_views(before: BusinessView, after: BusinessView) -> dict[str, dict[str, int]]:
    """What changed between two moments, per object: the delta an incremental run must load."""
    out: dict[str, dict[str, int]] = {}
    for name in FRAME_OBJECTS:
        old, new = before.frame(name), after.frame(name)
        created = new.visible & ~old.visible
        updated = old.visible & (new.modified >= before.now_ms)
        deleted = new.deleted & ~old.deleted
        changed = created | updated
        out[name] = {
            "created": int(created.sum()),
            "updated": int(updated.sum()),
            "deleted": int(deleted.sum()),
            "changed": int(changed.sum()),
            "changed_live": int((changed & ~new.deleted).sum()),
        }
    events = after.events_upper() - before.events_upper()
    out["hubspot.events"] = {
        "created": events,
        "updated": 0,
        "deleted": 0,
        "changed": events,
        "changed_live": events,
    }
    for platform in ("google_ads", "linkedin_ads"):
        old_rows, new_rows = before.ad_rows(platform), after.ad_rows(platform)
        created = int(new_rows.row.size - old_rows.row.size)
        common = np.isin(new_rows.row, old_rows.row)
        position = np.searchsorted(old_rows.row, new_rows.row[common])
        restated = (
            (new_rows.clicks[common] != old_rows.clicks[position])
            | (new_rows.cost[common] != old_rows.cost[position])
            | (new_rows.conversions[common] != old_rows.conversions[position])
        )
        out[f"{platform}.campaign_days"] = {
            "created": created,
            "updated": int(restated.sum()),
            "deleted": 0,
            "changed": created + int(restated.sum()),
            "changed_live": created + int(restated.sum()),
            "restated": int(restated.sum()),
        }
    return out
