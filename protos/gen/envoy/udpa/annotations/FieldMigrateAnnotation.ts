// Original file: xds/udpa/annotations/migrate.proto


export interface FieldMigrateAnnotation {
  'rename'?: (string);
  'oneofPromotion'?: (string);
}

export interface FieldMigrateAnnotation__Output {
  'rename': (string);
  'oneofPromotion': (string);
}
