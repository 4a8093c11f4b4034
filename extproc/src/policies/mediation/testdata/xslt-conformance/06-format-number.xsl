<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:decimal-format name="eu" decimal-separator="," grouping-separator="."/>
  <xsl:template match="/">
    <xsl:for-each select="//item">
      <xsl:value-of select="format-number(@price * @qty, '#,##0.00')"/>
      <xsl:text> </xsl:text>
      <xsl:value-of select="format-number(@price, '000.0')"/>
      <xsl:text> </xsl:text>
      <xsl:value-of select="format-number(@price * @qty, '#.##0,00', 'eu')"/>
      <xsl:text> </xsl:text>
      <xsl:value-of select="format-number(@qty div 3, '0.###')"/>
      <xsl:text> </xsl:text>
      <xsl:value-of select="format-number(@qty div 200, '0%')"/>
      <xsl:text>&#10;</xsl:text>
    </xsl:for-each>
  </xsl:template>
</xsl:stylesheet>
