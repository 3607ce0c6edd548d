-- Run once by gvenzl/oracle-free after 01-archivelog.sh, as SYS in the CDB root: the LogMiner user
-- Sluice's `kind: oracle` source connects as (adapters/oracle/README.md gives each grant's reason).
-- A common user (c## prefix), granted in every container, so it can mine from the PDB service.
-- In a URL the # signs are written %23: oracle://c%23%23sluice:sluice@127.0.0.1:11521/FREEPDB1
WHENEVER SQLERROR EXIT SQL.SQLCODE
ALTER SESSION SET CONTAINER = CDB$ROOT;
CREATE USER c##sluice IDENTIFIED BY sluice CONTAINER = ALL;
GRANT CREATE SESSION, SET CONTAINER TO c##sluice CONTAINER = ALL;
GRANT LOGMINING TO c##sluice CONTAINER = ALL;
GRANT SELECT ANY TRANSACTION TO c##sluice CONTAINER = ALL;
GRANT FLASHBACK ANY TABLE TO c##sluice CONTAINER = ALL;
GRANT SELECT ANY TABLE TO c##sluice CONTAINER = ALL;
GRANT SELECT_CATALOG_ROLE TO c##sluice CONTAINER = ALL;
GRANT EXECUTE_CATALOG_ROLE TO c##sluice CONTAINER = ALL;
GRANT SELECT ON V_$DATABASE TO c##sluice CONTAINER = ALL;
GRANT SELECT ON V_$LOG TO c##sluice CONTAINER = ALL;
GRANT SELECT ON V_$LOGFILE TO c##sluice CONTAINER = ALL;
GRANT SELECT ON V_$ARCHIVED_LOG TO c##sluice CONTAINER = ALL;
GRANT SELECT ON V_$TRANSACTION TO c##sluice CONTAINER = ALL;
GRANT SELECT ON V_$LOGMNR_CONTENTS TO c##sluice CONTAINER = ALL;
GRANT EXECUTE ON DBMS_LOGMNR TO c##sluice CONTAINER = ALL;
-- The contract suite creates its test tables as this user in FREEPDB1 and sets their
-- supplemental logging.
GRANT CREATE TABLE, ALTER ANY TABLE TO c##sluice CONTAINER = ALL;
ALTER SESSION SET CONTAINER = FREEPDB1;
ALTER USER c##sluice QUOTA UNLIMITED ON users;
EXIT
