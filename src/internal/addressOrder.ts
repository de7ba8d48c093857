/**
 * @internal
 * Address policy both editions share (Effect-free): the order in which happy eyeballs tries a
 * name's addresses.
 */

/**
 * @internal
 * RFC 8305 ordering: keep the resolver's order within each family, alternate families starting
 * with the family of the first answer.
 */
export const interleave = <A extends { readonly family: 4 | 6 }>(addresses: ReadonlyArray<A>): Array<A> => {
  if (addresses.length === 0) return []
  const first = addresses[0]!.family
  const primary = addresses.filter((a) => a.family === first)
  const secondary = addresses.filter((a) => a.family !== first)
  const out: Array<A> = []
  for (let i = 0; i < Math.max(primary.length, secondary.length); i++) {
    if (i < primary.length) out.push(primary[i]!)
    if (i < secondary.length) out.push(secondary[i]!)
  }
  return out
}
