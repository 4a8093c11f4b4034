// A JavaScript policy's script: the importer reports it and never reads it.
