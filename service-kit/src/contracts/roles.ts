/** The board's roles, lowest first. */
export const ROLES = ['user', 'member', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** The lower of two roles (user < member < admin). */
export const lowerRole = (a: Role, b: Role): Role => (ROLES.indexOf(a) <= ROLES.indexOf(b) ? a : b);

/** Whether `role` may see who wrote other people's messages. */
export const seesAuthors = (role: Role): boolean => role === 'member' || role === 'admin';
