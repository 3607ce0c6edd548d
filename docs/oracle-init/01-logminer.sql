-- Run once by the oracle service in docker-compose.yml: what LogMiner-based capture needs.
ALTER DATABASE ADD SUPPLEMENTAL LOG DATA;
ALTER DATABASE ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS;
-- ARCHIVELOG mode needs a restart in MOUNT state; gvenzl/oracle-free images document
-- `SHUTDOWN IMMEDIATE; STARTUP MOUNT; ALTER DATABASE ARCHIVELOG; ALTER DATABASE OPEN;`
-- run as SYSDBA (sqlplus / as sysdba) after the first start.
