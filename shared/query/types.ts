/** Types of the list-query parser (API.md §5.1). */

/** Declared field types (API.md §4.1). */
export type FieldType =
  | "string"
  | "number"
  | "integer"
  | "boolean"
  | "date"
  | "object"
  | "array"
  | "ref"
  | "email"
  | "url"
  | "any";

/** What the parser needs to know about one declared field. */
export interface QueryField {
  type: FieldType;
  private: boolean;
  /** Element type of an `array` field, when declared. */
  itemType?: FieldType;
}

/** The collection and caller a list query is parsed for. */
export interface QueryContext {
  /** Declared fields by dotted path (nested object fields included, e.g. "meta.lang"); null = schemaless collection. */
  fields: ReadonlyMap<string, QueryField> | null;
  /** pk callers may not filter, sort, search or select private fields (400 INVALID_QUERY). */
  isSecretKey: boolean;
  /**
   * The definition refuses undeclared fields (`additionalFields: false`): a filter, search or
   * selection naming a path no declared field covers is a mistake (a typo would match nothing), 400.
   */
  closed?: boolean;
  /**
   * Values are compared as given, with no declared or system field types (no id, ref or date
   * checks): the documents no longer have the collection's shape (an aggregate `$match` after a
   * `$group`, `$project`, ...). Private fields are still refused.
   */
  untyped?: boolean;
}

/** Ordered sort spec; always ends with `_id`. */
export type SortSpec = Record<string, 1 | -1>;

/** A MongoDB filter made only of allowlisted operators. */
export type QueryFilter = Record<string, unknown>;

/** The parsed, vetted list query. */
export interface ListQuery {
  /** A MongoDB filter made ONLY of allowed operators; the caller ANDs its rule filter with it. */
  filter: QueryFilter;
  /** `filter` without the cursor's keyset condition (what `total` counts); equal to `filter` without a cursor. */
  baseFilter: QueryFilter;
  /** Ordered; always ends with `_id` (tie-break in the direction of the last sort key). */
  sort: SortSpec;
  /** ≥ 1, default 1. */
  page: number;
  /** 1–100, default 20. */
  limit: number;
  /** (page - 1) * limit; 0 when a cursor is used. */
  skip: number;
  /** Inclusion projection from fields=/select= (plus `_id`, and the sort keys when `cursorable`); undefined = whole documents. */
  projection: Record<string, 1> | undefined;
  /** The paths fields=/select= named; the handler drops the sort keys the projection added only for the cursor. */
  selected?: string[] | undefined;
  /** count=true: the caller answers `{count}` only. */
  count: boolean;
  /** A cursor param was given (keyset paging; the filter already holds the keyset condition). */
  cursor: boolean;
  /** The sort can be paged with a cursor (no sort key the definition lets hold arrays or objects, none above a selected path). */
  cursorable: boolean;
}
