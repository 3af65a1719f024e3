// What both pages show of a document in either language: its type's title and field labels (from the
// service's document types, fetched once), and any value, bilingual or not, as text.
import { typeName } from "./document.js";
import { LOCALES } from "./i18n.js";

/** A field name for people: `licenceNumber` -> `Licence number`. */
export function humanize(key) {
  const words = String(key).replace(/([A-Z])/g, " $1").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A bilingual value (`{en, ar}`) in `lang`, or null for any other value. */
export function localized(value, lang) {
  if (value && typeof value === "object" && !Array.isArray(value) && ("en" in value || "ar" in value)) {
    return value[lang] || value.en || value.ar;
  }
  return null;
}

/**
 * Any JSON value as text in `lang`: bilingual values in that language, lists and objects one item per line
 * (or joined with `separator`), numbers with the language's digits.
 */
export function display(value, lang, separator = "\n") {
  const text = localized(value, lang);
  if (text !== null) return text;
  if (Array.isArray(value)) return value.map((item) => display(item, lang, separator)).join(separator);
  if (value && typeof value === "object") {
    return Object.entries(value)
      .map(([key, item]) => `${humanize(key)}: ${display(item, lang, separator)}`)
      .join(separator);
  }
  if (typeof value === "number") return new Intl.NumberFormat(LOCALES[lang]).format(value);
  return value === null || value === undefined ? "—" : String(value);
}

/**
 * The service's document types: for each, its name, its credential type, its titles and required fields, and
 * each field's label in English and Arabic. Empty when the service cannot be asked.
 * @returns {Promise<Array<{name: string, credentialType: string, title: string, titleAr: string,
 *   required: string[], labels: Record<string, [string, string]>}>>}
 */
export async function fetchDocumentTypes() {
  try {
    const types = await (await fetch("/v1/document-types")).json();
    return types.map((type) => ({
      name: type.name,
      credentialType: typeName(type.name),
      title: type.title,
      titleAr: type.schema["x-title-ar"] || type.title,
      required: type.schema.required || [],
      labels: Object.fromEntries(
        Object.entries(type.schema.properties || {}).map(([name, spec]) => [
          name,
          [spec.title || humanize(name), spec["x-title-ar"] || spec.title || humanize(name)],
        ]),
      ),
    }));
  } catch {
    return [];
  }
}
