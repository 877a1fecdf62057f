/**
 * Avatars: what an upload may be (the gateway and user-service must agree on the size, and nginx
 * allows it too) and the versioned URL every view links to.
 */

/** The largest avatar upload, in bytes (2 MiB). */
export const AVATAR_MAX_BYTES = 2 * 1024 * 1024;

/** The image types an upload may declare (PUT /api/users/me/avatar); stored avatars are always WebP. */
export const AVATAR_UPLOAD_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const;

/** The upload route, as the gateway and user-service match it. */
export const AVATAR_UPLOAD_ROUTE = { method: 'PUT', path: '/api/users/me/avatar' } as const;

/**
 * The avatar's URL at one version: a new upload gets a new URL, so a cache may keep each one for
 * good and never shows an old picture.
 */
export const avatarUrl = (userId: string, version: number): string => `/api/users/${userId}/avatar?v=${version}`;
