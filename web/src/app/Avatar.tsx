import { useQuery } from '@tanstack/react-query';
import { useEffect, useMemo } from 'react';
import { useBoard } from './context';

/**
 * An avatar at its versioned URL, fetched with the access token and shown from a blob URL. The
 * bytes are cached per URL for the page's life: a new upload is a new URL.
 */
export function Avatar({ url, size = 32, label }: { url: string | null | undefined; size?: number; label?: string }) {
  const { api } = useBoard();
  const image = useQuery({ queryKey: ['avatar', url], queryFn: () => api.avatar(url!), enabled: Boolean(url), staleTime: Infinity });
  const src = useMemo(() => (image.data ? URL.createObjectURL(image.data) : undefined), [image.data]);
  useEffect(() => () => {
    if (src) URL.revokeObjectURL(src);
  }, [src]);
  if (!url || !src) return null;
  return <img className="avatar" src={src} width={size} height={size} alt={label ?? ''} />;
}
