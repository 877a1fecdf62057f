export const USERNAME_PATTERN = /^[a-zA-Z0-9_]{3,32}$/;

export const PASSWORD_MIN_CHARACTERS = 8;
/** bcrypt reads only the first 72 bytes; a longer password would silently lose its tail. */
export const PASSWORD_MAX_BYTES = 72;

export const EMAIL_MAX = 254;

export const passwordTooShort = (password: string): boolean => [...password].length < PASSWORD_MIN_CHARACTERS;
export const passwordTooLong = (password: string): boolean => Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES;
export const isAcceptablePassword = (password: string): boolean => !passwordTooShort(password) && !passwordTooLong(password);

/** Emails and usernames are unique regardless of case, so they are stored lower-cased. */
export const canonical = (value: string): string => value.trim().toLowerCase();
