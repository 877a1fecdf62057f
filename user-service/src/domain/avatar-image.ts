import sharp from 'sharp';
import { AppError } from '@board/service-kit';

/** Every stored avatar is a square of this many pixels a side, in WebP. */
export const AVATAR_SIZE = 256;
export const AVATAR_MEDIA_TYPE = 'image/webp';
/**
 * The most pixels an upload may decode to (4096 x 4096, a 16-megapixel photo): a small file can
 * declare a huge image (a decompression bomb), and decoding one would take gigabytes.
 */
export const MAX_INPUT_PIXELS = 4096 * 4096;

/** What each accepted upload type must turn out to be when its bytes are read. */
const FORMAT_OF_TYPE: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/webp': 'webp' };

// Each upload is a different image: libvips' operation cache would only hold memory.
sharp.cache(false);

const notThatImage = (type: string) => new AppError(400, 'INVALID_IMAGE', `The request body is not a ${type} image`);

/**
 * Turns an upload into the stored avatar: checks the bytes are an image of the declared type
 * within the pixel limit, then re-encodes it to a 256x256 WebP (cropped to the centre, turned
 * upright by its EXIF orientation), which leaves every piece of metadata behind (EXIF, GPS, ICC
 * profiles, comments): only pixels survive.
 */
export async function normalizeAvatar(upload: Buffer, declaredType: string): Promise<Buffer> {
  const expected = FORMAT_OF_TYPE[declaredType];
  if (expected === undefined) throw notThatImage(declaredType);
  const options = { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', pages: 1 } as const;
  let metadata: sharp.Metadata;
  try {
    // The header only (no pixel is decoded), without the pixel limit, so that a bomb is told apart.
    metadata = await sharp(upload, { ...options, limitInputPixels: false }).metadata();
  } catch {
    throw notThatImage(declaredType);
  }
  if (metadata.format !== expected) throw notThatImage(declaredType);
  const { width = 0, height = 0 } = metadata;
  if (width * height > MAX_INPUT_PIXELS) {
    throw new AppError(400, 'IMAGE_TOO_LARGE', `The image is ${width}x${height}; it may have at most ${MAX_INPUT_PIXELS} pixels`);
  }
  try {
    // The limit again, as libvips' own guard on what it decodes.
    return await sharp(upload, { ...options, autoOrient: true })
      .resize(AVATAR_SIZE, AVATAR_SIZE, { fit: 'cover' })
      .webp({ quality: 80 })
      .toBuffer();
  } catch {
    // The header was fine but the pixel data is not (truncated, corrupt).
    throw notThatImage(declaredType);
  }
}
