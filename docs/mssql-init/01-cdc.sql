-- Run once by the mssql-init service of docker-compose.yml (sqlcmd -b: the first error stops it).
-- Creates the demo database `erp` (dbo.custmast captured by CDC and Change Tracking) and the
-- contract-suite database `sluice_test` (CDC on; the suite enables each test table itself).
-- Both need snapshot isolation: the adapter's snapshot and reads run under it.

-- The CDC capture job runs under SQL Server Agent (MSSQL_AGENT_ENABLED=true): wait until it runs
-- (Debezium's init script waits 30 s for the same reason), at most two minutes.
DECLARE @tries int = 0;
WHILE NOT EXISTS (SELECT 1 FROM sys.dm_server_services WHERE servicename LIKE N'SQL Server Agent%' AND status = 4)
  AND @tries < 60
BEGIN
  WAITFOR DELAY '00:00:02';
  SET @tries += 1;
END;
GO

IF DB_ID(N'erp') IS NULL CREATE DATABASE erp;
GO
ALTER DATABASE erp SET ALLOW_SNAPSHOT_ISOLATION ON;
GO
IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_databases WHERE database_id = DB_ID(N'erp'))
  ALTER DATABASE erp SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);
GO
USE erp;
GO
IF OBJECT_ID(N'dbo.custmast') IS NULL
  CREATE TABLE dbo.custmast (
    cust_no   char(8)        NOT NULL PRIMARY KEY,
    cust_nm   nvarchar(40)   NOT NULL,
    actv_flg  char(1)        NOT NULL DEFAULT 'Y',
    bal_amt   decimal(12, 2) NOT NULL DEFAULT 0,
    crt_dt    datetime2(7)   NOT NULL DEFAULT SYSUTCDATETIME(),
    row_ver   rowversion
  );
GO
IF (SELECT is_cdc_enabled FROM sys.databases WHERE name = N'erp') = 0 EXEC sys.sp_cdc_enable_db;
GO
IF NOT EXISTS (SELECT 1 FROM cdc.change_tables WHERE capture_instance = N'dbo_custmast')
  EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'custmast', @role_name = NULL;
GO
IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(N'dbo.custmast'))
  ALTER TABLE dbo.custmast ENABLE CHANGE_TRACKING;
GO
-- Tests: capture every second instead of every five.
EXEC sys.sp_cdc_change_job @job_type = N'capture', @pollinginterval = 1;
GO
IF NOT EXISTS (SELECT 1 FROM dbo.custmast)
  INSERT INTO dbo.custmast (cust_no, cust_nm, bal_amt) VALUES ('C0000042', N'ACME TOOLING', 1520.00);
GO

IF DB_ID(N'sluice_test') IS NULL CREATE DATABASE sluice_test;
GO
ALTER DATABASE sluice_test SET ALLOW_SNAPSHOT_ISOLATION ON;
GO
USE sluice_test;
GO
IF (SELECT is_cdc_enabled FROM sys.databases WHERE name = N'sluice_test') = 0 EXEC sys.sp_cdc_enable_db;
GO
EXEC sys.sp_cdc_change_job @job_type = N'capture', @pollinginterval = 1;
GO
