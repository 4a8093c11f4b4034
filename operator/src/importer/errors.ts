// The importer's failures (docs/errors.md, area import). Each names the file it is about, relative
// to the bundle where there is one; any of them stops that bundle (nothing is written for it) and the
// others still convert.
import { GatehouseError } from '../../../lib/errors.ts';

export abstract class ImportError extends GatehouseError {
  /** The file the error is about: relative to the bundle, or the path given on the command line. */
  readonly file: string;

  constructor(code: string, file: string, message: string) {
    super(code, `${file}: ${message}`);
    this.file = file;
  }
}

/** An XML file of a bundle that does not parse (or has a DOCTYPE). */
export class ImportXmlError extends ImportError {
  readonly line: number | undefined;

  constructor(file: string, message: string, line?: number, column?: number) {
    super(
      'GH_ERR_IMPORT_XML',
      line === undefined ? file : `${file}:${line}${column === undefined ? '' : `:${column}`}`,
      `XML does not parse: ${message}`,
    );
    this.line = line;
  }
}

/** A path that holds no proxy or shared-flow bundle, or a bundle without its descriptor files. */
export class ImportNotABundleError extends ImportError {
  constructor(file: string, message: string) {
    super('GH_ERR_IMPORT_NOT_A_BUNDLE', file, message);
  }
}

/** A zip file refused before extraction: too large, too many entries, or not a zip. */
export class ImportZipError extends ImportError {
  constructor(file: string, message: string) {
    super('GH_ERR_IMPORT_ZIP', file, message);
  }
}

/** A zip entry or a symbolic link whose path leaves the bundle (../, absolute, backslashes). */
export class ImportUnsafePathError extends ImportError {
  constructor(file: string, message: string) {
    super('GH_ERR_IMPORT_UNSAFE_PATH', file, message);
  }
}
