-- Views that later migrations add to schema compliance are readable by compliance_reader without a new GRANT
-- (default privileges apply to objects created by the role that runs the migrations).

ALTER DEFAULT PRIVILEGES IN SCHEMA compliance GRANT SELECT ON TABLES TO compliance_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA compliance TO compliance_reader;
