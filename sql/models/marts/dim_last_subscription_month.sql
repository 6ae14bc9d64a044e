-- The last month with subscription revenue (invoiced to a known account): the months of
-- fct_customer_arr_monthly run to it. One row, kept apart from the ARR fact so that the
-- fact, brought forward account by account, reads every account's last month, and is built
-- whole again only on the day the month moves.

with subscription_lines as (
    select * from fct_revenue_lines where product_family = 'subscription' and account_key is not null
)

select date_trunc('month', max(invoice_date))::date as month_start
from subscription_lines
having max(invoice_date) is not null
