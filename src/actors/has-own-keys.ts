/** `Object.keys(value).length > 0` without building the array (it runs on every call). */
export function hasOwnKeys(value: object): boolean {
  for (const key in value) if (Object.hasOwn(value, key)) return true;
  return false;
}
