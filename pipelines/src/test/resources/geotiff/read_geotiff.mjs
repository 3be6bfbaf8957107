// An independent reader of Maskbeam's GeoTIFF outputs (geotiff.js, installed by the test from npm): writes the
// pixels, interleaved, to a raw file and prints what a GIS would read from the tags as one JSON line.
// Usage: node read_geotiff.mjs input.tif pixels.raw
import { fromFile } from 'geotiff';
import { writeFileSync } from 'node:fs';

const [, , input, pixelsOut] = process.argv;
const tiff = await fromFile(input);
const image = await tiff.getImage();
const data = await image.readRasters({ interleave: true });
writeFileSync(pixelsOut, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
const keys = image.getGeoKeys() || {};
// geotiff.js 3 defers large tags (such as ColorMap) until asked for.
const tag = async (name) => {
  const d = image.fileDirectory;
  if (typeof d.loadValue === 'function') {
    return d.hasTag && !d.hasTag(name) ? undefined : d.loadValue(name);
  }
  return d[name];
};
const colorMap = await tag('ColorMap');
console.log(JSON.stringify({
  width: image.getWidth(),
  height: image.getHeight(),
  samplesPerPixel: image.getSamplesPerPixel(),
  bitsPerSample: Array.from((await tag('BitsPerSample')) || []),
  tileWidth: image.getTileWidth(),
  tileHeight: image.getTileHeight(),
  origin: image.getOrigin(),
  resolution: image.getResolution(),
  boundingBox: image.getBoundingBox(),
  noData: image.getGDALNoData(),
  projectedCrs: keys.ProjectedCSTypeGeoKey ?? null,
  geographicCrs: keys.GeographicTypeGeoKey ?? null,
  modelType: keys.GTModelTypeGeoKey ?? null,
  photometric: await tag('PhotometricInterpretation'),
  colorMapEntries: colorMap ? colorMap.length : 0,
}));
