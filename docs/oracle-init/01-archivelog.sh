#!/bin/bash
# Run once by gvenzl/oracle-free at the first start (docker-compose.yml, service `oracle`), as the
# oracle OS user: LogMiner needs ARCHIVELOG mode (redo kept after a log switch) and minimal
# supplemental logging. ARCHIVELOG can only be switched on in MOUNT state, hence the restart
# (the recipe of gvenzl/oci-oracle-free#98 and of Debezium's Oracle test setup).
set -euo pipefail
mkdir -p /opt/oracle/oradata/recovery_area
sqlplus -s / as sysdba <<'SQL'
WHENEVER SQLERROR EXIT SQL.SQLCODE
ALTER SYSTEM SET db_recovery_file_dest_size = 10G;
ALTER SYSTEM SET db_recovery_file_dest = '/opt/oracle/oradata/recovery_area' SCOPE = SPFILE;
SHUTDOWN IMMEDIATE
STARTUP MOUNT
ALTER DATABASE ARCHIVELOG;
ALTER DATABASE OPEN;
ALTER PLUGGABLE DATABASE ALL OPEN;
ALTER DATABASE ADD SUPPLEMENTAL LOG DATA;
ARCHIVE LOG LIST
EXIT
SQL
