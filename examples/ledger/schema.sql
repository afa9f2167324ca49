-- The ledger connector's table (examples/ledger/ledger.yaml). Idempotent: safe to apply again.
create table if not exists accounts (
  id bigserial primary key,
  account_id text not null unique,
  customer_ref text not null,
  amount_minor numeric(20, 0) not null,
  currency char(3) not null,
  opened_at timestamptz not null default now()
);
create index if not exists accounts_customer on accounts (customer_ref);
