/**
 * Text with the `user:password@` of every URI it quotes left out (a driver's error may quote its
 * URI): from the scheme to the last `@` before the URI's path, query or fragment.
 */
export const withoutCredentials = (text: string): string =>
  text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/?#\s]*@/gi, "$1…@");
