-- One database per service (the services would create them in development too; in production
-- they only migrate). Runs once, when the data volume is first initialised.
CREATE DATABASE auth;
CREATE DATABASE users;
CREATE DATABASE messages;
