package io.maskbeam.raster;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import javax.imageio.stream.ImageInputStreamImpl;

/**
 * An {@link javax.imageio.stream.ImageInputStream} over a {@link SeekableByteChannel} (a local file, or a {@code gs://}
 * or {@code s3://} object opened through Beam's file systems), read through one buffer: a TIFF reader seeks to the
 * tiles a window needs and reads only those, so a raster is never read whole. ImageIO's own streams over an
 * {@code InputStream} cache everything read so far, and TwelveMonkeys' channel stream is not public.
 */
public final class ChannelImageInputStream extends ImageInputStreamImpl {
  private static final int BUFFER = 256 << 10;

  private final SeekableByteChannel channel;
  private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
  /** Stream position of buffer[0]; the buffer holds [start, start + buffer.limit()). */
  private long start;

  public ChannelImageInputStream(SeekableByteChannel channel) {
    this.channel = channel;
    buffer.limit(0);
  }

  @Override
  public int read() throws IOException {
    if (!fill()) {
      return -1;
    }
    bitOffset = 0;
    int b = buffer.get((int) (streamPos - start)) & 0xff;
    streamPos++;
    return b;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    bitOffset = 0;
    if (len >= BUFFER && !(streamPos >= start && streamPos < start + buffer.limit())) {
      // Large reads (whole tiles) go straight to the caller's array.
      channel.position(streamPos);
      int n = channel.read(ByteBuffer.wrap(b, off, len));
      if (n > 0) {
        streamPos += n;
      }
      return n;
    }
    if (!fill()) {
      return -1;
    }
    int at = (int) (streamPos - start);
    int n = Math.min(len, buffer.limit() - at);
    buffer.get(at, b, off, n);
    streamPos += n;
    return n;
  }

  /** Makes the buffer hold streamPos; false at the end of the channel. */
  private boolean fill() throws IOException {
    if (streamPos >= start && streamPos < start + buffer.limit()) {
      return true;
    }
    start = streamPos;
    buffer.clear();
    channel.position(streamPos);
    while (buffer.hasRemaining()) {
      if (channel.read(buffer) < 0) {
        break;
      }
    }
    buffer.flip();
    return buffer.limit() > 0;
  }

  @Override
  public long length() {
    try {
      return channel.size();
    } catch (IOException e) {
      return -1;
    }
  }

  @Override
  public void close() throws IOException {
    super.close();
    channel.close();
  }
}
