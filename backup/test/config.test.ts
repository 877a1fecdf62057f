import { ConfigError, parseConfig } from '@board/service-kit';
import { configShape } from '../src/config';

describe('the backup service\'s configuration', () => {
  it('defaults to the nightly 02:00 UTC run, 7 daily and 4 weekly dumps, the three service databases, and no physical backups', () => {
    const config = parseConfig(configShape, {});
    expect(config).toMatchObject({
      PORT: 9300,
      BACKUP_AT: { hour: 2, minute: 0 },
      BACKUP_KEEP_DAILY: 7,
      BACKUP_KEEP_WEEKLY: 4,
      BACKUP_DATABASES: ['auth', 'users', 'messages'],
      PGHOST: '/var/run/postgresql',
    });
    expect(config.PGBACKREST_STANZA).toBeUndefined();
    expect(config.RABBITMQ_MANAGEMENT_URL).toBeUndefined();
  });

  it('reads a list of databases and a time of day', () => {
    expect(parseConfig(configShape, { BACKUP_DATABASES: ' auth , users ', BACKUP_AT: '23:45' })).toMatchObject({ BACKUP_DATABASES: ['auth', 'users'], BACKUP_AT: { hour: 23, minute: 45 } });
  });

  it.each([
    ['BACKUP_AT', '2am', /BACKUP_AT.*HH:MM/],
    ['BACKUP_DATABASES', ' , ', /BACKUP_DATABASES.*at least one/],
    ['BACKUP_KEEP_DAILY', '-1', /BACKUP_KEEP_DAILY/],
    ['RABBITMQ_MANAGEMENT_URL', 'rabbitmq:15672', /RABBITMQ_MANAGEMENT_URL/],
  ])('refuses %s=%j, naming it', (name, value, message) => {
    expect(() => parseConfig(configShape, { [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig(configShape, { [name]: value })).toThrow(message);
  });
});
